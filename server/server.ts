import { serve } from './http/serve.ts';

// Process concerns only (server/http/serve.ts): configuration, listen, signals.
await serve();
