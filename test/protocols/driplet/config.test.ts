// Driplet's config.toml as Driplet (viper) reads it: case-insensitive keys, lower-cased endpoint
// names, DRIPLET_* overrides for the keys the file has, and Octoway's refusals of insecure files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { envVariable, parseDripletConfig, type DripletConfig } from '../../../src/protocols/driplet/config.js';

function ok(text: string, env: Record<string, string> = {}): DripletConfig {
  const parsed = parseDripletConfig(text, env);
  if ('problems' in parsed) assert.fail(parsed.problems.join('; '));
  return parsed;
}

const README_EXAMPLE = `[Global]
BindAddress = '0.0.0.0'
Port = 4719
LogFile = ''
LogLevel = 'normal'

[Endpoints.default]
Name = 'default'
APISecret = 'change-this-api-secret'
JWTSecret = 'change-this-jwt-secret'
`;

test('the README\'s example: Global and one endpoint', () => {
  const config = ok(README_EXAMPLE);
  assert.deepEqual(config.global, { bindAddress: '0.0.0.0', port: 4719, logFile: '', logLevel: 'normal' });
  assert.deepEqual([...config.endpoints.values()], [{ name: 'default', displayName: 'default', apiSecret: 'change-this-api-secret', jwtSecret: 'change-this-jwt-secret' }]);
});

test('Global defaults to Driplet\'s when the table is missing', () => {
  assert.deepEqual(ok('[Endpoints.a]\nAPISecret = "x"\nJWTSecret = "y"\n').global, { bindAddress: '0.0.0.0', port: 4719, logFile: '', logLevel: 'normal' });
});

test('keys are case-insensitive and endpoint names are lower-cased (viper)', () => {
  const config = ok('[endpoints.MyApp]\napisecret = "x"\nJWTSECRET = "y"\nname = "Mine"\n');
  assert.deepEqual([...config.endpoints.keys()], ['myapp']);
  assert.deepEqual(config.endpoints.get('myapp'), { name: 'myapp', displayName: 'Mine', apiSecret: 'x', jwtSecret: 'y' });
});

test('several endpoints, each overridable by DRIPLET_ENDPOINTS_<NAME>_<KEY> (its config_test.go)', () => {
  const text = '[Global]\nPort = 8080\n[Endpoints.web]\nName = "web"\nAPISecret = "web-secret"\nJWTSecret = "web-jwt"\n[Endpoints.api]\nName = "api"\nAPISecret = "api-secret"\nJWTSecret = "api-jwt"\n';
  const config = ok(text, { DRIPLET_ENDPOINTS_WEB_APISECRET: 'web-secret-override', DRIPLET_ENDPOINTS_API_JWTSECRET: 'api-jwt-override', DRIPLET_GLOBAL_PORT: '9000', DRIPLET_GLOBAL_BINDADDRESS: '127.0.0.1' });
  assert.equal(config.endpoints.size, 2);
  assert.equal(config.endpoints.get('web')?.apiSecret, 'web-secret-override');
  assert.equal(config.endpoints.get('web')?.jwtSecret, 'web-jwt');
  assert.equal(config.endpoints.get('api')?.jwtSecret, 'api-jwt-override');
  assert.equal(config.global.port, 9000);
  assert.equal(config.global.bindAddress, '127.0.0.1');
});

test('overrides apply only to keys the file has, and an empty variable overrides nothing', () => {
  const text = '[Endpoints.web]\nAPISecret = "a"\nJWTSecret = "j"\n';
  // The README's DRIPLET_BINDADDRESS form is not what viper looks up.
  const config = ok(text, { DRIPLET_BINDADDRESS: '10.0.0.1', DRIPLET_ENDPOINTS_WEB_NAME: 'named', DRIPLET_ENDPOINTS_OTHER_APISECRET: 'x', DRIPLET_ENDPOINTS_WEB_JWTSECRET: '' });
  assert.equal(config.global.bindAddress, '0.0.0.0');
  assert.equal(config.endpoints.get('web')?.displayName, '', 'Name is not in the file: no override');
  assert.equal(config.endpoints.get('web')?.jwtSecret, 'j');
  assert.deepEqual([...config.endpoints.keys()], ['web']);
  assert.equal(envVariable('endpoints.web.apisecret'), 'DRIPLET_ENDPOINTS_WEB_APISECRET');
});

test('numbers and booleans where strings go convert as mapstructure\'s weak decoding does', () => {
  const config = ok('[Global]\nPort = "5000"\n[Endpoints.n]\nAPISecret = 12345\nJWTSecret = true\n');
  assert.equal(config.global.port, 5000);
  assert.equal(config.endpoints.get('n')?.apiSecret, '12345');
  assert.equal(config.endpoints.get('n')?.jwtSecret, '1');
});

test('refusals: bad TOML, no endpoint, empty secrets, a non-table endpoint, a bad port', () => {
  const problems = (text: string): readonly string[] => {
    const parsed = parseDripletConfig(text, {});
    assert.ok('problems' in parsed, 'expected problems');
    return parsed.problems;
  };
  assert.match(problems('[Global\nBindAddress = 123\n')[0] as string, /^not valid TOML: /);
  assert.deepEqual(problems('[Global]\nPort = 1\n'), ['no [Endpoints.NAME] table: expected at least one endpoint']);
  assert.deepEqual(problems('[Endpoints.a]\nAPISecret = ""\nJWTSecret = "j"\n'), ['Endpoints.a.APISecret is empty (or unset): expected the secret publishers sign with (or DRIPLET_ENDPOINTS_A_APISECRET)']);
  assert.deepEqual(problems('[Endpoints]\na = "x"\n'), ['Endpoints.a must be a table with Name, APISecret and JWTSecret']);
  assert.deepEqual(problems('[Global]\nPort = "many"\n[Endpoints.a]\nAPISecret = "x"\nJWTSecret = "y"\n'), ['Global.Port must be a whole number']);
  assert.deepEqual(problems('[Endpoints.a]\nAPISecret = ["x"]\nJWTSecret = "y"\n'), ['Endpoints.a.APISecret must be a string']);
});

test('an endpoint name holding NUL is refused: Octoway\'s addresses separate names with it', () => {
  const parsed = parseDripletConfig('[Endpoints."a\\u0000b"]\nAPISecret = "x"\nJWTSecret = "y"\n', {});
  assert.ok('problems' in parsed);
  assert.match(parsed.problems.join('; '), /may not contain NUL/);
});
