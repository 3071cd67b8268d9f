/**
 * The environment variables OpenOrchestrator shares with its Python peer.
 *
 * @example
 *   const { connectionString, cryptoKey } = readEnvironment();
 */

/** Holds the SQLAlchemy-style connection string, e.g. `postgresql://user:pw@host:5432/oo`. */
export const ENV_CONN_STRING = 'OpenOrchestratorConnString';

/** Holds the Fernet key that encrypts credentials. */
export const ENV_CRYPTO_KEY = 'OpenOrchestratorKey';

/**
 * Reads both variables, trimmed; a missing or blank variable is `undefined`.
 *
 * @example
 *   readEnvironment({ OpenOrchestratorConnString: ' sqlite:///oo.db\n' }); // { connectionString: 'sqlite:///oo.db', cryptoKey: undefined }
 */
export function readEnvironment(env: NodeJS.ProcessEnv = process.env): { connectionString?: string; cryptoKey?: string } {
  return { connectionString: nonBlank(env[ENV_CONN_STRING]), cryptoKey: nonBlank(env[ENV_CRYPTO_KEY]) };
}

function nonBlank(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}
