import type { Command } from 'commander';
import { generateKey } from '../crypto/fernet.js';

export function registerKey(program: Command): void {
  program
    .command('key')
    .description('print a new encryption key for credentials (keep it safe: without it, stored passwords cannot be read)')
    .action(() => {
      console.log(generateKey());
    });
}
