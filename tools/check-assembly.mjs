// Type-checks assembly/ with AssemblyScript's own declarations (assembly/tsconfig.json extends
// assemblyscript/std/assembly.json). tsc's grammar rejects decorators on functions and constants
// (TS1206), which AssemblyScript uses for @inline: those are the only diagnostics left out.
import ts from 'typescript';

const config = ts.getParsedCommandLineOfConfigFile('assembly/tsconfig.json', {}, {
  ...ts.sys,
  onUnRecoverableConfigFileDiagnostic: (d) => {
    throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
  },
});
const program = ts.createProgram(config.fileNames, { ...config.options, noEmit: true });
const DECORATOR_NOT_VALID_HERE = 1206;
const problems = ts.getPreEmitDiagnostics(program).filter((d) => d.code !== DECORATOR_NOT_VALID_HERE);
if (problems.length > 0) {
  process.stderr.write(ts.formatDiagnostics(problems, {
    getCanonicalFileName: (f) => f,
    getCurrentDirectory: ts.sys.getCurrentDirectory,
    getNewLine: () => '\n',
  }));
  process.exit(1);
}
console.log(`assembly/: ${config.fileNames.length} files type-check`);
