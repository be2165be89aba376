/**
 * The folders are the architecture, and their dependencies point one way (docs/architecture.md).
 * Each layer may import only the layers listed before it:
 *   base -> domain -> scheme -> ledger -> failover -> payments -> events -> participant -> ops -> daemon
 * Simulators are the scheme's and the banks' side: they share the codecs, never the gateway's core.
 */
const LAYERS = ['base', 'domain', 'scheme', 'ledger', 'failover', 'payments', 'events', 'participant', 'ops', 'daemon'];

const upward = LAYERS.map((layer, i) => ({
  name: `${layer}-imports-upward`,
  comment: `src/${layer} may import only ${LAYERS.slice(0, i).join(', ') || 'nothing of src'}`,
  severity: 'error',
  from: { path: `^src/${layer}/` },
  to: { path: `^src/(${LAYERS.slice(i + 1).join('|') || '$^'})/` },
}));

export default {
  forbidden: [
    { name: 'no-cycle', severity: 'error', from: {}, to: { circular: true } },
    ...upward,
    {
      name: 'src-in-its-folders',
      comment: 'every module of src lives in a layer folder',
      severity: 'error',
      from: { path: '^src/[^/]+$' },
      to: {},
    },
    {
      name: 'simulators-not-the-gateway',
      comment: 'the simulators are the other side of the contracts: codecs and transports only',
      severity: 'error',
      from: { path: '^simulators/' },
      to: { path: '^src/(ledger|failover|payments|ops|daemon)/' },
    },
    {
      name: 'src-not-tests-or-tools',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(test|bench|scripts|simulators)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '^(dist|var|node_modules)/' },
  },
};
