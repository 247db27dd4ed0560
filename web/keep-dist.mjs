// Vite empties dist/ on every build; the Go embed needs dist/.gitkeep to
// exist on a clean clone, so the build puts it back.
import { writeFileSync } from 'node:fs';
writeFileSync(new URL('./dist/.gitkeep', import.meta.url), '');
