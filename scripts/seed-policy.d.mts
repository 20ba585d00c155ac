export function demoSeedDecision(o: { localDatabase: boolean; seedDemo?: string | undefined }): {
  seed: boolean;
  note?: string;
  error?: string;
};
export function demoSeedArgs(o: { historyDays?: string | undefined }): { args: string[]; error?: string };
