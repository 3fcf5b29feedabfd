// drizzle-kit 1.0 (installed as drizzle-kit-1) requires and imports "drizzle-orm" of its own
// line, while the unaliased drizzle-orm here is 0.45: point both at drizzle-orm-1. Loaded only by
// drizzle.mjs as `node --import ./kit1-alias.mjs node_modules/drizzle-kit-1/bin.cjs ...`.
import Module, { register } from "node:module";

const ours = (request) => request === "drizzle-orm" || request.startsWith("drizzle-orm/");
const aliased = (request) => "drizzle-orm-1" + request.slice("drizzle-orm".length);

const resolveFilename = Module._resolveFilename;  // require()
Module._resolveFilename = function (request, ...rest) {
  return resolveFilename.call(this, ours(request) ? aliased(request) : request, ...rest);
};

const hook = `export async function resolve(specifier, context, next) {
  const ours = specifier === "drizzle-orm" || specifier.startsWith("drizzle-orm/");
  return next(ours ? "drizzle-orm-1" + specifier.slice("drizzle-orm".length) : specifier, context);
}`;
register("data:text/javascript," + encodeURIComponent(hook), import.meta.url);  // import()
