// Writes the JSON Schema of every Zod component schema, as Zod itself exports it
// (z.toJSONSchema), to <out>/input/<Name>.json and <out>/output/<Name>.json: what a request
// schema accepts (defaults make fields optional) and what a response schema emits.
// The gate's `models` family compares these files with the spec (models.prepare runs this).
//
//   node scripts/export-zod-schemas.mjs [out]     (default: build/zod)
import { mkdir, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { build } from "esbuild";

const out = process.argv[2] ?? "build/zod";
// src/schemas.ts is TypeScript: esbuild bundles it with Zod into one ES module in memory,
// which also exports the z that built the schemas
const bundled = await build({
  stdin: {
    contents: 'export * from "./src/schemas.ts"; export { z } from "zod";',
    resolveDir: process.cwd(),
    loader: "ts",
  },
  bundle: true,
  format: "esm",
  platform: "neutral",
  write: false,
  logLevel: "error",
});
const source = bundled.outputFiles[0].text;
const module = await import(`data:text/javascript;base64,${Buffer.from(source).toString("base64")}`);
const { components, z } = module;

for (const io of ["input", "output"]) {
  const folder = join(out, io);
  await mkdir(folder, { recursive: true });
  for (const [name, schema] of Object.entries(components)) {
    const document = z.toJSONSchema(schema, { io, unrepresentable: "any" });
    const path = join(folder, `${name}.json`);
    // write and rename, so a reader running at the same time never sees half a file
    const partial = `${path}.${process.pid}.tmp`;
    await writeFile(partial, `${JSON.stringify(document, null, 2)}\n`);
    await rename(partial, path);
  }
}
console.log(`wrote ${Object.keys(components).length * 2} JSON Schemas to ${out}`);
