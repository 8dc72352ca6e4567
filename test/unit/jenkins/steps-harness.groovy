// Runs the shared library's vars/ scripts outside Jenkins against a small recorded `steps`
// object: sh, readFile, pwd, withEnv, error and env are stand-ins that record each call.
// Usage: groovy -cp jenkins/src steps-harness.groovy VARS_DIR CASES_JSON
// Prints one JSON document: for every case, the recorded calls, the return value or the error.
import groovy.json.JsonOutput
import groovy.json.JsonSlurper

class StepError extends RuntimeException {
  StepError(String m) { super(m) }
}

// JSON objects lose their key order in groovy's parsers, but Groovy map literals keep it; so
// the test sends maps whose order matters as {"$map": [[key, value], ...]}.
def ordered
ordered = { v ->
  if (v instanceof Map && v.containsKey('$map')) {
    def m = new LinkedHashMap()
    v['$map'].each { pair -> m[pair[0]] = ordered(pair[1]) }
    return m
  }
  if (v instanceof Map) return v.collectEntries { k, x -> [k, ordered(x)] }
  if (v instanceof List) return v.collect { ordered(it) }
  return v
}

def varsDir = new File(args[0])
def cases = ordered(new JsonSlurper().parse(new File(args[1])))
def results = []
def shell = new GroovyShell(this.class.classLoader)

cases.each { c ->
  def calls = []
  def env = [DOCKER_CONFIG: c.envDockerConfig]
  def binding = new Binding()
  binding.setVariable('env', env)
  binding.setVariable('sh', { Map m -> calls << [step: 'sh', script: m.script, label: m.label]; null })
  binding.setVariable('readFile', { Map m -> calls << [step: 'readFile', file: m.file]; (c.digest ?: '') + '\n' })
  binding.setVariable('pwd', { Map m = [:] -> m.tmp ? '/ws/job@tmp' : '/ws/job' })
  binding.setVariable('error', { String msg -> throw new StepError(msg) })
  binding.setVariable('withEnv', { List e, Closure body ->
    calls << [step: 'withEnv', env: e.collect { it.toString() }]
    def saved = env.clone()
    e.each { String kv -> def i = kv.indexOf('='); env[kv.substring(0, i)] = kv.substring(i + 1) }
    try { body() } finally { env.clear(); env.putAll(saved); calls << [step: 'endWithEnv'] }
  })
  def script = shell.parse(new File(varsDir, "${c.step}.groovy"))
  script.binding = binding
  def result = [name: c.name]
  try {
    if (c.step == 'withDrydockCredentials') {
      result.value = script.call(c.args ?: [:]) { calls << [step: 'body', DOCKER_CONFIG: env.DOCKER_CONFIG]; 'body-done' }
    } else {
      result.value = script.call(c.args ?: [:])
    }
  } catch (StepError e) {
    result.error = e.message
  }
  result.calls = calls
  results << result
}
println JsonOutput.toJson(results)
