export function demoSeedDecision(o: { localDatabase: boolean; seedDemo?: string | undefined }): {
  seed: boolean;
  note?: string;
  error?: string;
};
