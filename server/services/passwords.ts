import { hash, verify } from '@node-rs/argon2';

/** OWASP minimum for argon2id: 19 MiB memory, 2 iterations, parallelism 1. (2 = Algorithm.Argon2id, a const enum.) */
const OPTIONS = { algorithm: 2, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export function hashPassword(password: string): Promise<string> {
  return hash(password, OPTIONS);
}

// Verified against when the e-mail is unknown, so both answers take the same time.
let dummy: Promise<string> | undefined;

export async function verifyPassword(hashed: string | null, password: string): Promise<boolean> {
  if (hashed === null) {
    dummy ??= hashPassword('timing-equaliser');
    await verify(await dummy, password).catch(() => false);
    return false;
  }
  return verify(hashed, password).catch(() => false);
}
