// The app's documents (clients/operations/<flow>/<Name>.graphql), parsed once, by name. Every
// run records the names it used so the caller can require each document to be exercised.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "graphql";

const OPERATIONS = fileURLToPath(new URL("../../operations/", import.meta.url));

export function loadCatalog(directory = OPERATIONS) {
  const documents = new Map();
  for (const flow of readdirSync(directory, { withFileTypes: true })) {
    if (!flow.isDirectory()) continue;
    for (const file of readdirSync(join(directory, flow.name))) {
      if (!file.endsWith(".graphql")) continue;
      const name = file.slice(0, -".graphql".length);
      documents.set(name, parse(readFileSync(join(directory, flow.name, file), "utf8")));
    }
  }
  const used = new Set();
  return {
    used,
    names: () => [...documents.keys()].sort(),
    document(name) {
      const document = documents.get(name);
      if (!document) throw new Error(`no operation ${name} in clients/operations`);
      used.add(name);
      return document;
    },
  };
}
