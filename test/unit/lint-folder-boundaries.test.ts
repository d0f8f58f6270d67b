/**
 * The folder-boundary lint rule (ADR 0109) on the repository's real folders: each case names a file
 * under src/ and an import; the invalid ones are the deliberate violations that make lint fail.
 */
import path from 'node:path';
import { RuleTester } from 'eslint';
import tseslint from 'typescript-eslint';
import { describe, it } from 'vitest';
import { folderBoundaries } from '../../tools/eslint/folder-boundaries.js';

RuleTester.describe = describe;
RuleTester.it = it;
RuleTester.itOnly = it.only;

const tester = new RuleTester({ languageOptions: { parser: tseslint.parser } });
const src = (file: string): string => path.resolve('src', file);

tester.run('folder-boundaries', folderBoundaries, {
  valid: [
    {
      filename: src('ovsdb/client.ts'),
      code: "import { Socket } from 'node:net';\nimport { x } from './rpc.js';",
    },
    { filename: src('agent/reconciler.ts'), code: "import { planPorts } from '../plug/index.js';" },
    { filename: src('agent/status/table.ts'), code: "import type { X } from '../metrics.js';" },
    { filename: src('agent/kube/client.ts'), code: "import type { Logger } from '../logger.js';" },
    { filename: src('agent/main.ts'), code: "import { KubeClient } from './kube/index.js';" },
    { filename: src('plug/planner.ts'), code: "import type { Row } from '../ovsdb/index.js';" },
    { filename: src('plug/planner.ts'), code: "import { type Row } from '../ovsdb/index.js';" },
    {
      filename: src('providers/representor/provider.ts'),
      code: "import { readFile } from 'node:fs/promises';",
    },
    {
      filename: path.resolve('test/unit/x.test.ts'),
      code: "import { a } from '../../src/agent/reconciler.js';",
    },
  ],
  invalid: [
    {
      filename: src('ovsdb/client.ts'),
      code: "import type { Logger } from '../agent/index.js';",
      errors: [{ messageId: 'ovsdbImportsProject' }],
    },
    {
      filename: src('ovsdb/client.ts'),
      code: "export { x } from '../../test/harness/index.js';",
      errors: [{ messageId: 'ovsdbImportsProject' }],
    },
    {
      filename: src('plug/planner.ts'),
      code: "import { readFileSync } from 'node:fs';",
      errors: [{ messageId: 'plugImportsIo' }],
    },
    {
      filename: src('plug/planner.ts'),
      code: "import { OvsdbClient } from '../ovsdb/index.js';",
      errors: [{ messageId: 'plugImportsIo' }],
    },
    {
      filename: src('plug/clock.ts'),
      code: "const env = await import('process');",
      errors: [{ messageId: 'plugImportsIo' }],
    },
    {
      filename: src('agent/reconciler.ts'),
      code: "import { planPorts } from '../plug/planner.js';",
      errors: [{ messageId: 'deepImport', data: { source: '../plug/planner.js', targetFolder: 'src/plug' } }],
    },
    {
      filename: src('agent/status/model.ts'),
      code: "import type { HoldCause } from '../../plug/removal-guard.js';",
      errors: [{ messageId: 'deepImport' }],
    },
    {
      filename: src('agent/main.ts'),
      code: "export * from './kube/client.js';",
      errors: [{ messageId: 'deepImport' }],
    },
    {
      filename: src('providers/representor/provider.ts'),
      code: "import type { PlugProvider } from '../../plug/provider.js';",
      errors: [{ messageId: 'deepImport' }],
    },
    {
      filename: src('providers/external/loader.ts'),
      code: "import { RepresentorProvider } from '../representor/provider.js';",
      errors: [{ messageId: 'deepImport' }],
    },
  ],
});
