// Builds Kinto Admin (the npm package kinto-admin, published as a library:
// ES modules and CSS, not a site) into a static site in build/ (or the
// folder given as the first argument): index.html, VERSION (the kinto-admin
// release, which pawl's hello view reports) and assets/, where every file
// (the script, the stylesheet, their images and licence notices) has a hash
// of its content in its name, so nginx may let browsers keep them forever.
//
// kinto-admin 1.31.1 is written for webpack, and three things need help
// under another bundler:
// - lib/components/Breadcrumbs/Breadcrumbs.js imports "./style.css", which
//   the package does not ship: it resolves to an empty stylesheet here.
// - css/styles.css names other packages' files webpack's way,
//   url("~bootstrap-icons/icons/check.svg"): "~" means "from node_modules".
// - The code reads Node's `process` (process.env.NODE_ENV, and
//   process.env.REACT_APP_VERSION in App.js): they are defined at build time.
import * as esbuild from "esbuild";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.resolve(process.argv[2] || path.join(here, "build"));
const require = createRequire(import.meta.url);
const version = JSON.parse(
  await readFile(require.resolve("kinto-admin/package.json"), "utf8"),
).version;

const webpackisms = {
  name: "kinto-admin-webpackisms",
  setup(build) {
    build.onResolve({ filter: /^~/ }, (args) => ({
      path: require.resolve(args.path.slice(1), { paths: [args.resolveDir] }),
    }));
    build.onResolve({ filter: /^\.\/style\.css$/ }, (args) =>
      args.importer.endsWith(path.join("Breadcrumbs", "Breadcrumbs.js"))
        ? { path: "missing-breadcrumbs-style", namespace: "empty-css" }
        : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: "empty-css" }, () => ({
      contents: "",
      loader: "css",
    }));
  },
};

await rm(out, { recursive: true, force: true });
await mkdir(out, { recursive: true });
const result = await esbuild.build({
  entryPoints: { admin: path.join(here, "src", "index.js") },
  bundle: true,
  absWorkingDir: here, // what the metafile's paths are relative to
  outdir: path.join(out, "assets"),
  entryNames: "[name]-[hash]",
  assetNames: "[name]-[hash]",
  minify: true,
  sourcemap: false,
  legalComments: "linked",
  target: ["es2019"],
  format: "iife",
  logLevel: "warning",
  define: {
    "process.env.NODE_ENV": '"production"',
    "process.env.REACT_APP_VERSION": JSON.stringify(version),
    "process.env.KINTO_ADMIN_VERSION": JSON.stringify(version),
    "process.env": "{}",
    global: "globalThis",
  },
  loader: {
    ".png": "file",
    ".svg": "file",
    ".woff": "file",
    ".woff2": "file",
    ".ttf": "file",
    ".eot": "file",
  },
  plugins: [webpackisms],
  metafile: true,
});

// index.html names the hashed script and stylesheet by absolute path: it is
// also the answer for any client route below /v1/admin/.
const outputs = Object.entries(result.metafile.outputs).map(([f, o]) => ({
  name: path.relative(out, path.resolve(here, f)),
  bytes: o.bytes,
}));
const pick = (ext) => {
  const found = outputs.filter((o) => o.name.startsWith("assets/admin-") && o.name.endsWith(ext));
  if (found.length !== 1) throw new Error(`expected one assets/admin-*${ext}, got ${found.length}`);
  return found[0];
};
const js = pick(".js");
const css = pick(".css");
const html = (await readFile(path.join(here, "src", "index.html"), "utf8"))
  .replace("@ADMIN_JS@", `/v1/admin/${js.name}`)
  .replace("@ADMIN_CSS@", `/v1/admin/${css.name}`);
await writeFile(path.join(out, "index.html"), html);
await writeFile(path.join(out, "VERSION"), `${version}\n`);
console.log(`admin: kinto-admin ${version} built into ${out}: ` +
  `${js.name} ${js.bytes} bytes, ${css.name} ${css.bytes} bytes`);
