// Word expansion. Expected values are BuildKit's (frontend/dockerfile/shell envVarTest, wordsTest
// and lex_test.go tables), so a Dockerfile expands here as it does under docker build.
import assert from 'node:assert/strict';
import { ExpansionError, expandWord, expandWords, type Lookup, unquoteWord } from '../../../src/dockerfile/expand';
import { expandsVariables } from '../../../src/dockerfile/expands-variables';
import { parseArgDefinitions, parseKeyValues, splitQuotedWords } from '../../../src/dockerfile/words';

const env = (vars: Record<string, string>): Lookup => (name) => (Object.prototype.hasOwnProperty.call(vars, name) ? vars[name] : undefined);
const base = env({ PWD: '/home', SHELL: 'bash', KOREAN: '한국어', NULL: '' });

describe('dockerfile/expand', () => {
  describe('expandWord: BuildKit envVarTest table', () => {
    const cases: [string, string | Error][] = [
      ['hello', 'hello'],
      ["he'll'o", 'hello'],
      ["he'llo", Error()],
      ["he\\'llo", "he'llo"],
      ["he\\\\'llo", Error()],
      ['abc\\tdef', 'abctdef'],
      ['"abc\\tdef"', 'abc\\tdef'],
      ['"abc\\\\tdef"', 'abc\\tdef'],
      ["'abc\\tdef'", 'abc\\tdef'],
      ['hello\\', 'hello'],
      ['hello\\\\', 'hello\\'],
      ['"hello', Error()],
      ['"hello\\"', Error()],
      ['"hel\'lo"', "hel'lo"],
      ["'hello", Error()],
      ["'hello\\'", 'hello\\'],
      ["'hello\\there'", 'hello\\there'],
      ['"\'\'"', "''"],
      ['$.', '$.'],
      ['he$1x', 'hex'],
      ['he$.x', 'he$.x'],
      ['he$pwd.', 'he.'],
      ['he$PWD', 'he/home'],
      ['he\\$PWD', 'he$PWD'],
      ['he\\\\$PWD', 'he\\/home'],
      ['"he\\$PWD"', 'he$PWD'],
      ['"he\\\\$PWD"', 'he\\/home'],
      ['\\${}', '${}'],
      ['he\\${}xx', 'he${}xx'],
      ['${}', Error()],
      ['he${}xx', Error()],
      ['he${hi}', 'he'],
      ['he${PWD}', 'he/home'],
      ['he${.}', Error()],
      ['he${XXX:-000}xx', 'he000xx'],
      ['he${PWD:-000}xx', 'he/homexx'],
      ['he${XXX:-$PWD}xx', 'he/homexx'],
      ['he${XXX:-${PWD:-yyy}}xx', 'he/homexx'],
      ['he${XXX:-${YYY:-yyy}}xx', 'heyyyxx'],
      ['he${XXX:YYY}', Error()],
      ['he${XXX?}', Error()],
      ['he${XXX:?}', Error()],
      ['he${PWD?}', 'he/home'],
      ['he${PWD:?}', 'he/home'],
      ['he${NULL?}', 'he'],
      ['he${NULL:?}', Error()],
      ['he${XXX:+${PWD}}xx', 'hexx'],
      ['he${PWD:+${XXX}}xx', 'hexx'],
      ['he${PWD:+${SHELL}}xx', 'hebashxx'],
      ['he${XXX:+000}xx', 'hexx'],
      ['he${PWD:+000}xx', 'he000xx'],
      ["'he${XX}'", 'he${XX}'],
      ['"he${PWD}"', 'he/home'],
      ['"he\'$PWD\'"', "he'/home'"],
      ["'$PWD'", '$PWD'],
      ["'\\$PWD'", '\\$PWD'],
      ['\'"hello"\'', '"hello"'],
      ['he${PWD', Error()],
      ['he${PWD=000}xx', Error()],
      ['he${PWD+${PWD}:}xx', 'he/home:xx'],
      ['he${XXX:-\\$PWD:}xx', 'he$PWD:xx'],
      ['he${XXX:-\\${PWD}z}xx', 'he${PWDz}xx'],
      ['안\'녕\'하세요', '안녕하세요'],
      ['안녕\\\'하세요', "안녕'하세요"],
      ['$KOREAN', '한국어'],
      ['안녕$KOREAN', '안녕한국어'],
      ['${{aaa}', Error()],
      ['${aaa}}', '}'],
      ['${aaa', Error()],
      ['${aaa:-bbb}}', 'bbb}'],
    ];
    for (const [input, want] of cases) {
      it(`${JSON.stringify(input)} → ${want instanceof Error ? 'error' : JSON.stringify(want)}`, () => {
        if (want instanceof Error) assert.throws(() => expandWord(input, base), ExpansionError);
        else assert.equal(expandWord(input, base), want);
      });
    }
  });

  describe('expandWord: operators (lex_test.go TestProcessWithMatches)', () => {
    const vars = env({ FOO: 'xxx', BAR: '' });
    it('- and :- distinguish empty from unset', () => {
      assert.equal(expandWord('${FOO-aaa} ${BAR-bbb} ${BAZ-ccc}', vars), 'xxx  ccc');
      assert.equal(expandWord('${FOO:-aaa} ${BAR:-bbb} ${BAZ:-ccc}', vars), 'xxx bbb ccc');
    });
    it('+ and :+ distinguish empty from unset', () => {
      assert.equal(expandWord('${FOO+aaa} ${BAR+bbb} ${BAZ+ccc}', vars), 'aaa bbb ');
      assert.equal(expandWord('${FOO:+aaa} ${BAR:+bbb} ${BAZ:+ccc}', vars), 'aaa  ');
    });
    it('? and :? fail with the message (expanded) or a default message', () => {
      assert.equal(expandWord('${BAR?bbb}', vars), '');
      assert.throws(() => expandWord('${BAZ?ccc}', vars), /BAZ: ccc/);
      assert.throws(() => expandWord('${BAR:?}', vars), /BAR: is not allowed to be empty/);
      assert.throws(() => expandWord('${BAZ:?}', vars), /BAZ: is not allowed to be unset/);
      assert.throws(() => expandWord('${VAR:?message here$ARG}', env({ VAR: '', ARG: 'x' })), /VAR: message herex/);
    });
    it('= is not supported', () => {
      assert.throws(() => expandWord('${FOO=aaa}', vars), /unsupported modifier \(=\)/);
    });
    it('# ## % %% trim shortest/longest prefix/suffix, with escapes in the pattern', () => {
      const x = env({ FOO: 'xxyy' });
      assert.equal(expandWord('${FOO#*x*y}', x), 'y');
      assert.equal(expandWord('${FOO#*}', x), 'xxyy');
      assert.equal(expandWord('${FOO##*x}', x), 'yy');
      assert.equal(expandWord('${FOO#}', x), 'xxyy');
      assert.equal(expandWord('${FOO%x}', x), 'xxyy');
      assert.equal(expandWord('${FOO%y}', x), 'xxy');
      assert.equal(expandWord('${FOO%%y*}', env({ FOO: 'ayby' })), 'a');
      assert.equal(expandWord('${FOO%y*}', env({ FOO: 'ayby' })), 'ayb');
      assert.equal(expandWord('${FOO%%\\**}', env({ FOO: 'xx**' })), 'xx');
      assert.equal(expandWord('${FOO%%\\**\\*}', env({ FOO: 'a***yy*' })), 'a');
      assert.equal(expandWord('${FOO#?\\?}', env({ FOO: '???y' })), '?y');
      assert.equal(expandWord('${FOO#()[]{\\}^$.\\*\\?|\\\\}', env({ FOO: '()[]{}^$.*?|\\x' })), 'x');
      assert.equal(expandWord('${FOO#$BAR}', env({ FOO: 'xxyy', BAR: 'x' })), 'xyy');
      assert.equal(expandWord('${ABC:-.}${FOO%x}${ABC:-.}', x), '.xxyy.');
    });
    it('/ and // replace the first or every match', () => {
      const needle = env({ FOO: '/foo*/*/*.txt', NEEDLE: '\\*/' });
      assert.equal(expandWord('${FOO/$NEEDLE/.} - ${FOO//$NEEDLE/.}', needle), '/foo.*/*.txt - /foo..*.txt');
      const tmp = env({ FOO: '/tmp/tmp/bar.txt', NEEDLE: '/tmp' });
      assert.equal(expandWord('${FOO/$NEEDLE/} - ${FOO//$NEEDLE/}', tmp), '/tmp/bar.txt - /bar.txt');
      const q = env({ FOO: '/a/foo/b/c.txt', NEEDLE: '/?/', REPLACEMENT: '/' });
      assert.equal(expandWord('${FOO/$NEEDLE/$REPLACEMENT} - ${FOO//$NEEDLE/$REPLACEMENT}', q), '/foo/b/c.txt - /foo/c.txt');
      assert.equal(expandWord('${FOO//\\//\\/}', env({ FOO: '/tmp/foo.txt' })), '\\/tmp\\/foo.txt');
      assert.equal(expandWord('${FOO///}', env({ FOO: 'xxyy' })), 'xxyy');
      assert.throws(() => expandWord('${FOO//ww}', env({ FOO: 'xxyy' })), ExpansionError);
    });
    it('${#VAR} gives the length (extension; BuildKit rejects it)', () => {
      assert.equal(expandWord('${#FOO}', env({ FOO: 'héllo' })), '5');
      assert.equal(expandWord('${#FOO}', env({})), '0');
    });
    it('TARGETVARIANT idiom from BuildKit release names', () => {
      const w = 'something-${VERSION}.${TARGETOS}-${TARGETARCH}${TARGETVARIANT:+-${TARGETVARIANT}}.tar.gz';
      const vars2 = { VERSION: 'v1.2.3', TARGETOS: 'linux', TARGETARCH: 'arm' };
      assert.equal(expandWord(w, env({ ...vars2, TARGETVARIANT: 'v7' })), 'something-v1.2.3.linux-arm-v7.tar.gz');
      assert.equal(expandWord(w, env(vars2)), 'something-v1.2.3.linux-arm.tar.gz');
    });
    it('names the word in errors', () => {
      assert.throws(() => expandWord('a${X:?must be set}', env({})), { message: 'failed to expand "a${X:?must be set}": X: must be set' });
    });
  });

  describe('backtick escape', () => {
    it('escapes with ` and leaves \\ literal', () => {
      assert.equal(expandWord('C:\\path\\$X', env({ X: 'y' }), '`'), 'C:\\path\\y');
      assert.equal(expandWord('a`$X', env({ X: 'y' }), '`'), 'a$X');
      assert.equal(expandWord('"a`"b"', env({}), '`'), 'a"b');
      assert.equal(expandWord('"a\\b"', env({}), '`'), 'a\\b');
    });
  });

  describe('expandWords: BuildKit wordsTest table', () => {
    const vars = env({ hi: 'hi', space: 'abc  def', leading: '  ab c', trailing: 'ab c   ', tab: 'ab\tc' });
    const cases: [string, string[]][] = [
      ['hello', ['hello']],
      ['hello${hi}bye', ['hellohibye']],
      ['hello${space}bye', ['helloabc', 'defbye']],
      ['hello"${space}"bye', ['helloabc  defbye']],
      ['hello "${space}"bye', ['hello', 'abc  defbye']],
      ['hello${leading}def', ['hello', 'ab', 'cdef']],
      ['hello"${leading}" def', ['hello  ab c', 'def']],
      ['hello${trailing}', ['helloab', 'c']],
      ['hello${trailing}d', ['helloab', 'c', 'd']],
      ['hello"${trailing}"d', ['helloab c   d']],
      ['hello${tab}', ['helloab', 'c']],
      ['  a  b  ', ['a', 'b']],
      ["'a b' \"c d\"", ['a b', 'c d']],
      ['a\\ b', ['a b']],
      ['""', []],
      ['$undefined', []],
    ];
    for (const [input, want] of cases) {
      it(`${JSON.stringify(input)} → ${JSON.stringify(want)}`, () => {
        assert.deepEqual(expandWords(input, vars), want);
      });
    }
  });

  describe('unquoteWord', () => {
    it('removes quotes but keeps variables', () => {
      assert.equal(unquoteWord('"a b"$X${Y:-z}'), 'a b$X${Y:-z}');
    });
  });

  describe('splitQuotedWords (raw, for ARG/ENV/LABEL)', () => {
    it('keeps quotes and escapes, splits on unquoted blanks', () => {
      assert.deepEqual(splitQuotedWords('a=1 b="two words" c=\'x y\' d=e\\ f', '\\'), ['a=1', 'b="two words"', "c='x y'", 'd=e\\ f']);
      assert.deepEqual(splitQuotedWords('k="a\\"b"  ', '\\'), ['k="a\\"b"']);
      assert.deepEqual(splitQuotedWords("k='a\\'", '\\'), ["k='a\\'"]);
      assert.deepEqual(splitQuotedWords('k=""', '\\'), ['k=""']);
    });
  });

  describe('parseKeyValues', () => {
    it('without a lookup returns the words as written', () => {
      assert.deepEqual(parseKeyValues('A=1 B="two words" C= D=$A', null), [
        { key: 'A', value: '1' },
        { key: 'B', value: '"two words"' },
        { key: 'C', value: '' },
        { key: 'D', value: '$A' },
      ]);
    });
    it('with a lookup expands keys and values against the same variables', () => {
      assert.deepEqual(parseKeyValues('A=2 B=$A "k $A"="v  w" C=\'$A\'', env({ A: '1' })), [
        { key: 'A', value: '2' },
        { key: 'B', value: '1' },
        { key: 'k 1', value: 'v  w' },
        { key: 'C', value: '$A' },
      ]);
    });
    it('accepts the legacy "KEY value with spaces" form', () => {
      assert.deepEqual(parseKeyValues('PATH  /usr/bin:$PATH  x', null), [{ key: 'PATH', value: '/usr/bin:$PATH  x' }]);
      assert.deepEqual(parseKeyValues('MSG "hello  world"', env({})), [{ key: 'MSG', value: 'hello  world' }]);
    });
    it('keeps = inside values', () => {
      assert.deepEqual(parseKeyValues('OPTS=a=b=c', null), [{ key: 'OPTS', value: 'a=b=c' }]);
    });
    it('rejects a later word without =, a blank key, and a key without value', () => {
      assert.throws(() => parseKeyValues('A=1 B', null), /ENV argument "B" has no "=", expected/);
      assert.throws(() => parseKeyValues('=x', null, '\\', 'LABEL'), /LABEL names can not be blank/);
      assert.throws(() => parseKeyValues('ONLYKEY', null), /ENV ONLYKEY has no value, expected/);
    });
  });

  describe('parseArgDefinitions', () => {
    it('parses names with and without defaults', () => {
      assert.deepEqual(parseArgDefinitions('A B= C=x D="y z"', null), [{ name: 'A' }, { name: 'B', value: '' }, { name: 'C', value: 'x' }, { name: 'D', value: '"y z"' }]);
      assert.deepEqual(parseArgDefinitions('V=${X:-d}', env({})), [{ name: 'V', value: 'd' }]);
    });
  });

  describe('expandsVariables', () => {
    it('follows Docker\'s environment replacement list', () => {
      for (const k of ['add', 'copy', 'env', 'expose', 'from', 'label', 'stopsignal', 'user', 'volume', 'workdir', 'arg'] as const) {
        assert.equal(expandsVariables(k), true, k);
      }
      for (const k of ['run', 'cmd', 'entrypoint', 'shell', 'healthcheck', 'maintainer', 'onbuild'] as const) {
        assert.equal(expandsVariables(k), false, k);
      }
    });
  });
});
