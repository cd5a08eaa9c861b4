import { type Coverage, loadCoverage } from '../../cli/lib/coverage.ts';
import { packagePath } from '../../core/package-path.ts';

/** Coverage of the bundled rules, fixture cases and framework data, as `rules coverage` computes it. */
export function bundledCoverage(): Coverage {
  const loaded = loadCoverage({
    rulePaths: [packagePath('rules')],
    casesRoot: packagePath('fixtures', 'rules'),
    frameworksDirectory: packagePath('frameworks'),
  });
  if (!loaded.ok) throw new Error(loaded.error.join('\n'));
  return loaded.value;
}
