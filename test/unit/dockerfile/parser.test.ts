// parseDockerfile: directives, continuations, heredocs, forms, flags, every instruction, stages
// and errors with their line numbers. Expected behaviour is BuildKit's parser (parser_test.go,
// parser_heredoc_test.go, instructions/parse_test.go) and Docker's documented rules.
import assert from 'node:assert/strict';
import { UserError } from '../../../src/log';
import { parseDockerfile } from '../../../src/dockerfile';
import type { Instruction } from '../../../src/dockerfile';

const parse = (text: string) => parseDockerfile(text, 'Dockerfile');
/** The instructions of the first stage. */
const body = (text: string): Instruction[] => parse(`FROM scratch\n${text}`).stages[0].instructions;
const one = <K extends Instruction['kind']>(text: string, kind: K): Extract<Instruction, { kind: K }> => {
  const [ins] = body(text);
  assert.equal(ins.kind, kind);
  return ins as Extract<Instruction, { kind: K }>;
};
const fails = (text: string, message: string | RegExp) =>
  assert.throws(
    () => parse(text),
    (e: unknown) => e instanceof UserError && (typeof message === 'string' ? e.message === message : message.test(e.message)),
  );

describe('dockerfile/parser', () => {
  describe('directives', () => {
    it('reads escape and syntax at the top, ignores check', () => {
      const p = parse('# syntax=docker/dockerfile:1.7\n# escape=`\n# check=skip=all\nFROM scratch\n');
      assert.equal(p.escape, '`');
      assert.equal(p.syntax, 'docker/dockerfile:1.7');
    });
    it('accepts spacing and case variants', () => {
      assert.equal(parse('#ESCAPE = `\nFROM scratch').escape, '`');
    });
    it('stops looking after a comment, blank line or instruction', () => {
      assert.equal(parse('# hello\n# escape=`\nFROM scratch').escape, '\\');
      assert.equal(parse('\n# escape=`\nFROM scratch').escape, '\\');
      assert.equal(parse('FROM scratch\n# escape=`\n').escape, '\\');
    });
    it('rejects a repeated or invalid directive with its line', () => {
      fails('# escape=`\n# escape=\\\nFROM scratch', /^Dockerfile:2: the escape parser directive is given twice, expected/);
      fails('# escape=x\nFROM scratch', /^Dockerfile:1: invalid escape character "x" in # escape=, expected/);
    });
  });

  describe('lines', () => {
    it('strips a BOM, CRLF, comments and indentation', () => {
      const p = parse('\uFEFF# c\r\n  FROM  scratch  \r\n\r\n   # indented comment\r\nRUN echo hi\r\n');
      assert.equal(p.stages[0].from.image, 'scratch');
      const run = p.stages[0].instructions[0];
      assert.equal(run.kind === 'run' && run.command.form === 'shell' && run.command.text, 'echo hi');
      assert.equal(run.line, 5);
    });
    it('joins continuations, dropping comment and empty lines inside them (with a warning)', () => {
      const p = parse('FROM scratch\nRUN echo a \\\n# comment\n  && echo b \\\n\n  && echo c\nUSER x\n');
      const [run, user] = p.stages[0].instructions;
      assert.equal(run.kind === 'run' && run.command.form === 'shell' && run.command.text, 'echo a   && echo b   && echo c');
      assert.equal(run.line, 2);
      assert.equal(run.endLine, 6);
      assert.equal(user.line, 7);
      assert.equal(p.warnings.length, 1);
      assert.match(p.warnings[0], /^Dockerfile:2: empty continuation line/);
    });
    it('continues with trailing blanks after the escape, not with an escaped escape', () => {
      assert.equal((one('RUN a \\  \t\nb', 'run').command as { text: string }).text, 'a b');
      const [run, user] = body('RUN echo \\\\\nUSER x');
      assert.equal(run.kind === 'run' && run.command.form === 'shell' && run.command.text, 'echo \\\\');
      assert.equal(user.kind, 'user');
    });
    it('uses the backtick for continuations with # escape=`', () => {
      const p = parse('# escape=`\nFROM scratch\nRUN dir C:\\ `\n  /b\nWORKDIR C:\\x\n');
      const [run, wd] = p.stages[0].instructions;
      assert.equal(run.kind === 'run' && run.command.form === 'shell' && run.command.text, 'dir C:\\   /b');
      assert.equal(wd.kind === 'workdir' && wd.path, 'C:\\x');
    });
    it('keeps the keyword as written and accepts any case', () => {
      const ins = one('run echo', 'run');
      assert.equal(ins.keyword, 'run');
      assert.equal(ins.text, 'run echo');
      assert.equal(parse('from scratch AS Base').stages[0].name, 'base');
    });
  });

  describe('heredocs', () => {
    it('RUN <<EOF with body, expansion allowed', () => {
      const run = one('RUN <<EOF\necho $HOME\n  indented\nEOF\nUSER x', 'run');
      assert.deepEqual(run.heredocs, [{ name: 'EOF', content: 'echo $HOME\n  indented\n', expand: true, chomp: false }]);
      assert.equal(run.line, 2);
      assert.equal(run.endLine, 5);
      assert.deepEqual(run.command, { form: 'shell', text: '<<EOF' });
    });
    it('<<-EOF strips leading tabs from the body and the terminator', () => {
      const run = one('RUN <<-EOF\n\techo a\n\t\techo b\n\tEOF\n', 'run');
      assert.equal(run.heredocs[0].content, 'echo a\necho b\n');
      assert.equal(run.heredocs[0].chomp, true);
    });
    it('quoted delimiters disable expansion', () => {
      for (const marker of ['<<"EOF"', "<<'EOF'", '<<E"O"F']) {
        const run = one(`RUN ${marker}\n$X\nEOF\n`, 'run');
        assert.equal(run.heredocs[0].name, 'EOF', marker);
        assert.equal(run.heredocs[0].expand, false, marker);
      }
    });
    it('several heredocs on one line are read in order, with fds', () => {
      const run = one('RUN python3 <<PY 3<<CONF && cat\nprint(1)\nPY\nk=v\nCONF\n', 'run');
      assert.deepEqual(
        run.heredocs.map((h) => [h.name, h.content, h.fd]),
        [
          ['PY', 'print(1)\n', undefined],
          ['CONF', 'k=v\n', 3],
        ],
      );
    });
    it('COPY <<EOF /dest and COPY <<a.txt <<b.txt /dir/', () => {
      const c1 = one('COPY <<EOF /etc/motd\nhello\nEOF\n', 'copy');
      assert.deepEqual(c1.sources, []);
      assert.equal(c1.dest, '/etc/motd');
      assert.equal(c1.heredocs[0].content, 'hello\n');
      const c2 = one('COPY --chmod=644 <<a.txt local.txt <<"b.txt" /dir/\nA\na.txt\nB $X\nb.txt\n', 'copy');
      assert.deepEqual(c2.sources, ['local.txt']);
      assert.deepEqual(c2.heredocs.map((h) => [h.name, h.content, h.expand]), [
        ['a.txt', 'A\n', true],
        ['b.txt', 'B $X\n', false],
      ]);
      assert.equal(c2.flags.chmod, '644');
    });
    it('ADD and ONBUILD RUN take heredocs too', () => {
      assert.equal(one('ADD <<EOF /x\ny\nEOF\n', 'add').heredocs[0].content, 'y\n');
      const ob = one('ONBUILD RUN <<EOF\necho hi\nEOF\nUSER u\n', 'onbuild');
      assert.equal(ob.trigger.kind === 'run' && ob.trigger.heredocs[0].content, 'echo hi\n');
      assert.equal(ob.endLine, 4);
    });
    it('is not recognised in JSON form, quoted strings or other instructions', () => {
      assert.deepEqual(one('RUN ["echo", "<<EOF"]', 'run').heredocs, []);
      assert.deepEqual(one('RUN echo "<<EOF"', 'run').heredocs, []);
      assert.deepEqual(one('RUN echo a<<EOF', 'run').heredocs, []);
      assert.equal(body('CMD cat <<EOF\nUSER x').length, 2);
    });
    it('an unterminated heredoc is an error at the instruction line', () => {
      fails('FROM scratch\nRUN true\nRUN <<EOF\necho\n', /^Dockerfile:3: unterminated heredoc <<EOF .*, expected a line containing only "EOF"$/);
    });
  });

  describe('exec (JSON) and shell forms', () => {
    it('RUN, CMD, ENTRYPOINT: JSON arrays are exec form', () => {
      assert.deepEqual(one('RUN ["/bin/sh", "-c", "echo $HOME"]', 'run').command, { form: 'exec', args: ['/bin/sh', '-c', 'echo $HOME'] });
      assert.deepEqual(one('CMD []', 'cmd').command, { form: 'exec', args: [] });
      assert.deepEqual(one('ENTRYPOINT ["a"]', 'entrypoint').command, { form: 'exec', args: ['a'] });
    });
    it('invalid JSON starting with [ falls back to shell form', () => {
      assert.deepEqual(one("CMD ['single', 'quotes']", 'cmd').command, { form: 'shell', text: "['single', 'quotes']" });
      assert.deepEqual(one('RUN [ -f x ] && echo', 'run').command, { form: 'shell', text: '[ -f x ] && echo' });
    });
    it('a JSON array of non-strings is an error', () => {
      fails('FROM scratch\nCMD ["a", 1]', /^Dockerfile:2: CMD has a JSON array with non-string elements, expected an array of strings only$/);
    });
    it('COPY/ADD/VOLUME accept JSON lists', () => {
      const c = one('COPY ["a b", "c", "/d e/"]', 'copy');
      assert.deepEqual([c.sources, c.dest, c.json], [['a b', 'c'], '/d e/', true]);
      const v = one('VOLUME ["/a", "/b"]', 'volume');
      assert.deepEqual([v.paths, v.json], [['/a', '/b'], true]);
      assert.deepEqual(one('VOLUME /a $B', 'volume').paths, ['/a', '$B']);
    });
    it('SHELL requires JSON', () => {
      assert.deepEqual(one('SHELL ["powershell", "-command"]', 'shell').shell, ['powershell', '-command']);
      fails('FROM scratch\nSHELL /bin/bash -c', /^Dockerfile:2: SHELL is not in JSON form, expected SHELL \["executable", "parameters"\]$/);
      fails('FROM scratch\nSHELL []', /^Dockerfile:2: SHELL has an empty array/);
    });
  });

  describe('instructions', () => {
    it('FROM with --platform and AS', () => {
      const p = parse('ARG V=1\nFROM --platform=$BUILDPLATFORM golang:${V} AS Build\nFROM build\n');
      assert.deepEqual(p.globalArgs.map((a) => a.args), [[{ name: 'V', value: '1' }]]);
      const [s0, s1] = p.stages;
      assert.deepEqual([s0.index, s0.name, s0.baseImage, s0.platform], [0, 'build', 'golang:${V}', '$BUILDPLATFORM']);
      assert.deepEqual([s1.index, s1.name, s1.baseImage, s1.platform], [1, undefined, 'build', undefined]);
    });
    it('FROM argument errors', () => {
      fails('FROM a b', /^Dockerfile:1: FROM has 2 arguments, expected FROM \[--platform=<platform>\] <image> \[AS <name>\]$/);
      fails('FROM a like b', /^Dockerfile:1: FROM's second argument is "like", expected AS/);
      fails('FROM a AS 1st', /^Dockerfile:1: invalid stage name "1st"/);
    });
    it('ARG with several names, defaults and quotes', () => {
      assert.deepEqual(one('ARG A B=2 C="x y"', 'arg').args, [{ name: 'A' }, { name: 'B', value: '2' }, { name: 'C', value: '"x y"' }]);
    });
    it('ENV k=v pairs and legacy ENV k v', () => {
      assert.deepEqual(one('ENV A=1 B="2 3" C=$A', 'env').pairs, [
        { key: 'A', value: '1' },
        { key: 'B', value: '"2 3"' },
        { key: 'C', value: '$A' },
      ]);
      assert.deepEqual(one('ENV PATH /x:$PATH', 'env').pairs, [{ key: 'PATH', value: '/x:$PATH' }]);
      fails('FROM scratch\nENV A=1 B', /^Dockerfile:2: ENV argument "B" has no "="/);
    });
    it('LABEL (quoted keys kept for the builder to unquote), MAINTAINER', () => {
      assert.deepEqual(one('LABEL "com.example"="v 1" b=c', 'label').pairs, [
        { key: '"com.example"', value: '"v 1"' },
        { key: 'b', value: 'c' },
      ]);
      assert.equal(one('MAINTAINER Jane Doe <j@example.com>', 'maintainer').maintainer, 'Jane Doe <j@example.com>');
    });
    it('WORKDIR, USER, STOPSIGNAL keep the rest of the line', () => {
      assert.equal(one('WORKDIR /a dir/$X', 'workdir').path, '/a dir/$X');
      assert.equal(one('USER app:app', 'user').user, 'app:app');
      assert.equal(one('STOPSIGNAL SIGTERM', 'stopsignal').signal, 'SIGTERM');
    });
    it('EXPOSE keeps words for expandWords', () => {
      assert.deepEqual(one('EXPOSE 80/tcp  443 $PORTS', 'expose').ports, ['80/tcp', '443', '$PORTS']);
    });
    it('HEALTHCHECK NONE, CMD forms and options', () => {
      const none = one('HEALTHCHECK NONE', 'healthcheck');
      assert.deepEqual([none.command, none.options], [undefined, {}]);
      const hc = one('HEALTHCHECK --interval=1m30s --timeout=500ms --start-period=2s --start-interval=1s --retries=3 CMD curl -f http://x/', 'healthcheck');
      assert.deepEqual(hc.command, { form: 'shell', text: 'curl -f http://x/' });
      assert.deepEqual(hc.options, { intervalNs: 90e9, timeoutNs: 500e6, startPeriodNs: 2e9, startIntervalNs: 1e9, retries: 3 });
      assert.deepEqual(one('healthcheck cmd ["true"]', 'healthcheck').command, { form: 'exec', args: ['true'] });
    });
    it('HEALTHCHECK errors', () => {
      fails('FROM s\nHEALTHCHECK NONE x', /^Dockerfile:2: HEALTHCHECK NONE takes no arguments/);
      fails('FROM s\nHEALTHCHECK --retries=1 NONE', /^Dockerfile:2: HEALTHCHECK NONE takes no options/);
      fails('FROM s\nHEALTHCHECK RUN x', /^Dockerfile:2: unknown HEALTHCHECK type "RUN", expected/);
      fails('FROM s\nHEALTHCHECK CMD', /^Dockerfile:2: HEALTHCHECK CMD has no command/);
      fails('FROM s\nHEALTHCHECK --interval=5 CMD x', /^Dockerfile:2: HEALTHCHECK --interval=5 is not a duration/);
      fails('FROM s\nHEALTHCHECK --timeout=10us CMD x', /^Dockerfile:2: HEALTHCHECK --timeout=10us is shorter than 1ms/);
      fails('FROM s\nHEALTHCHECK --retries=-1 CMD x', /^Dockerfile:2: HEALTHCHECK --retries=-1 is negative/);
    });
    it('ONBUILD parses its trigger and keeps the expression', () => {
      const ob = one('ONBUILD COPY --chown=a . /app', 'onbuild');
      assert.equal(ob.expression, 'COPY --chown=a . /app');
      assert.equal(ob.trigger.kind === 'copy' && ob.trigger.flags.chown, 'a');
    });
    it('ONBUILD errors', () => {
      fails('FROM s\nONBUILD ONBUILD RUN x', /^Dockerfile:2: ONBUILD ONBUILD is not allowed/);
      fails('FROM s\nONBUILD FROM x', /^Dockerfile:2: FROM is not allowed as an ONBUILD trigger/);
      fails('FROM s\nONBUILD maintainer x', /^Dockerfile:2: MAINTAINER is not allowed as an ONBUILD trigger/);
      fails('FROM s\nONBUILD RUNN x', /^Dockerfile:2: unknown instruction "RUNN"/);
      fails('FROM s\nONBUILD', /^Dockerfile:2: ONBUILD has no arguments/);
    });
    it('COPY and ADD split sources on whitespace (quotes are not special, as in Docker)', () => {
      const c = one('COPY a "b c" /d/', 'copy');
      assert.deepEqual([c.sources, c.dest], [['a', '"b', 'c"'], '/d/']);
      const a = one('ADD https://example.com/x.tgz /tmp/', 'add');
      assert.deepEqual([a.sources, a.dest, a.json], [['https://example.com/x.tgz'], '/tmp/', false]);
    });
  });

  describe('flags', () => {
    it('COPY flags', () => {
      const c = one('COPY --from=build --chown=1000:1000 --chmod=0755 --link --parents --exclude=*.md --exclude="a b" src /dst', 'copy');
      assert.deepEqual(c.flags, { from: 'build', chown: '1000:1000', chmod: '0755', link: true, parents: true, exclude: ['*.md', 'a b'] });
      assert.deepEqual(one('COPY --link=false a b', 'copy').flags.link, false);
    });
    it('ADD flags', () => {
      const a = one('ADD --checksum=sha256:abc --keep-git-dir=true --chown=u --link --exclude=x https://h/r.git /src', 'add');
      assert.deepEqual(a.flags, { checksum: 'sha256:abc', keepGitDir: true, chown: 'u', link: true, exclude: ['x'] });
    });
    it('RUN --mount (repeatable, structured), --network, --security', () => {
      const r = one(
        'RUN --mount=type=cache,target=/root/.cache,sharing=locked,id=c --mount=type=secret,id=npm,required,mode=0400,uid=1 --mount=type=bind,from=build,source=/out,target=/in,rw --network=none --security=insecure make',
        'run',
      );
      assert.deepEqual(r.mounts.map((m) => m.spec), [
        { type: 'cache', target: '/root/.cache', sharing: 'locked', id: 'c', readonly: false, required: false },
        { type: 'secret', id: 'npm', mode: 0o400, uid: 1, readonly: true, required: true },
        { type: 'bind', from: 'build', source: '/out', target: '/in', readonly: false, required: false },
      ]);
      assert.equal(r.mounts[0].raw, 'type=cache,target=/root/.cache,sharing=locked,id=c');
      assert.deepEqual([r.network, r.security], ['none', 'insecure']);
    });
    it('--mount defaults and aliases', () => {
      const r = one('RUN --mount=target=/a,src=x --mount=type=tmpfs,dst=/t,size=64m --mount=type=ssh --mount=type=cache,destination=/c,ro=true make', 'run');
      assert.deepEqual(r.mounts.map((m) => m.spec), [
        { type: 'bind', target: '/a', source: 'x', readonly: true, required: false },
        { type: 'tmpfs', target: '/t', size: '64m', readonly: false, required: false },
        { type: 'ssh', readonly: true, required: false },
        { type: 'cache', target: '/c', readonly: true, required: false },
      ]);
    });
    it('--mount fields holding variables are kept for expansion', () => {
      const r = one('RUN --mount=type=cache,target=$DIR,uid=$UID x', 'run');
      assert.deepEqual(r.mounts[0].spec, { type: 'cache', target: '$DIR', readonly: false, required: false, uid: undefined });
    });
    it('--mount errors', () => {
      fails('FROM s\nRUN --mount=type=cache,target=/x,colour=red x', /^Dockerfile:2: unexpected key 'colour' in --mount "type=cache,target=\/x,colour=red", expected/);
      fails('FROM s\nRUN --mount=type=volume,target=/x x', /^Dockerfile:2: unsupported mount type "volume"/);
      fails('FROM s\nRUN --mount=type=cache x', /^Dockerfile:2: --mount "type=cache" has no target, expected target=/);
      fails('FROM s\nRUN --mount=type=cache,target=/x,sharing=all x', /^Dockerfile:2: unsupported sharing value "all"/);
      fails('FROM s\nRUN --mount=type=cache,target=/x,mode=999 x', /^Dockerfile:2: --mount mode=999 .* is not an octal number/);
      fails('FROM s\nRUN --mount=type=bind,target=/x,ro=maybe x', /^Dockerfile:2: --mount ro=maybe .* is not a boolean/);
      fails('FROM s\nRUN --mount=type=secret x', /^Dockerfile:2: --mount "type=secret" has no id=, target= or env= for the secret, expected type=secret,id=<id>$/);
      fails('FROM s\nRUN --mount=type=secret,id=a,from=b x', /^Dockerfile:2: --mount "type=secret,id=a,from=b" sets from= on a secret mount/);
      fails('FROM s\nRUN --mount=type=bind,target=/x,sharing=locked x', /^Dockerfile:2: .*sets sharing on a bind mount/);
    });
    it('RUN --network/--security values are checked', () => {
      fails('FROM s\nRUN --network=bridge x', /^Dockerfile:2: unsupported network mode "bridge" in RUN --network, expected/);
      fails('FROM s\nRUN --security=root x', /^Dockerfile:2: unsupported security mode "root"/);
    });
    it('unknown, duplicate, valueless and non-boolean flags name the flag, instruction and line', () => {
      fails('FROM s\nRUN true\nCOPY --form=build a b', /^Dockerfile:3: unknown flag --form for COPY, expected one of --from, --chown, --chmod, --link, --parents, --exclude$/);
      fails('FROM s\nADD --from=x a b', /^Dockerfile:2: unknown flag --from for ADD, expected/);
      fails('FROM s\nWORKDIR --x=1 /a', /^Dockerfile:2: unknown flag --x for WORKDIR, expected no flags on WORKDIR$/);
      fails('FROM s\nCOPY --from=a --from=b x y', /^Dockerfile:2: duplicate flag --from for COPY/);
      fails('FROM s\nCOPY --from x y', /^Dockerfile:2: flag --from of COPY has no value, expected --from=<value>$/);
      fails('FROM s\nCOPY --link=yes x y', /^Dockerfile:2: flag --link of COPY has value "yes", expected/);
      fails('FROM --plat=x s', /^Dockerfile:1: unknown flag --plat for FROM, expected one of --platform$/);
    });
    it('"--" ends the flags', () => {
      assert.deepEqual(one('COPY -- --weird /d', 'copy').sources, ['--weird']);
    });
  });

  describe('stages and global ARGs', () => {
    it('groups instructions by stage and keeps ARGs before FROM global', () => {
      const p = parse('ARG A\nARG B=1\nFROM a AS one\nRUN x\nFROM b\nARG A\nRUN y\n');
      assert.equal(p.globalArgs.length, 2);
      assert.deepEqual(p.stages.map((s) => s.instructions.map((i) => i.kind)), [['run'], ['arg', 'run']]);
      assert.equal(p.stages[0].from.line, 3);
    });
    it('rejects duplicate stage names (case-insensitive)', () => {
      fails('FROM a AS x\nFROM b AS X\n', /^Dockerfile:2: duplicate stage name "x" \(first used on line 1\), expected unique names after AS$/);
    });
  });

  describe('errors', () => {
    it('unknown instruction, with a suggestion', () => {
      fails('FROM s\n\nRUNN x', /^Dockerfile:3: unknown instruction "RUNN", expected RUN or another instruction/);
      fails('FROM s\nFOOBAR x', /^Dockerfile:2: unknown instruction "FOOBAR", expected one of ADD, ARG/);
    });
    it('COPY with one argument', () => {
      fails('FROM s\n\n\n\n\n\nCOPY onlyone', /^Dockerfile:7: COPY requires at least two arguments, but got 1, expected COPY \[flags\] <src>\.\.\. <dest>$/);
    });
    it('no FROM', () => {
      fails('RUN x', /^Dockerfile:1: no FROM instruction: a Dockerfile must start with FROM \(after ARGs\)/);
      fails('ARG A\nARG B\n', /^Dockerfile:2: no FROM instruction/);
      fails('ARG A\nENV X=1\nFROM a', /^Dockerfile:2: no FROM instruction: .* but found ENV/);
    });
    it('empty Dockerfile', () => {
      fails('', /^Dockerfile:1: the Dockerfile has no instructions, expected at least FROM <image>$/);
      fails('# only a comment\n\n', /^Dockerfile:1: the Dockerfile has no instructions/);
    });
    it('instructions without arguments', () => {
      for (const kw of ['RUN', 'CMD', 'ENTRYPOINT', 'WORKDIR', 'USER', 'EXPOSE', 'VOLUME', 'STOPSIGNAL', 'HEALTHCHECK', 'ENV', 'LABEL', 'ARG', 'MAINTAINER', 'SHELL']) {
        fails(`FROM s\n${kw}\n`, new RegExp(`^Dockerfile:2: ${kw} has no arguments, expected `));
      }
      fails('FROM\n', /^Dockerfile:1: FROM has no arguments/);
    });
    it('uses the file name given', () => {
      assert.throws(() => parseDockerfile('RUNX', 'build/app.Dockerfile'), /^UserError: build\/app\.Dockerfile:1: unknown instruction/);
    });
  });
});
