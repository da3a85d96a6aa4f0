/**
 * Where synthforge/local-vision's server is, for a launcher to run it as SageMaker runs a container:
 * `node --import tsx <LOCAL_VISION_SERVER> serve --port 0 --host 127.0.0.1` (the local SageMaker
 * host's childProcessLauncher). A module of its own, so that the host learns the path without
 * loading the server's image and model packages.
 */
import { fileURLToPath } from 'node:url';

export const LOCAL_VISION_SERVER = fileURLToPath(new URL('./server.ts', import.meta.url));
