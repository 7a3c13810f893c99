// Apollo's cache matches `... on UserError` (an interface) against a concrete type only when it
// knows the interface's implementations: without `possibleTypes` it silently drops the
// fragment's fields. This is what graphql-codegen's fragment-matcher plugin generates; here it
// is read from the committed schema.graphql.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { buildSchema, isAbstractType } from "graphql";

const SCHEMA = fileURLToPath(new URL("../../../schema.graphql", import.meta.url));

export function possibleTypes(path = SCHEMA) {
  const schema = buildSchema(readFileSync(path, "utf8"));
  const found = {};
  for (const type of Object.values(schema.getTypeMap())) {
    if (isAbstractType(type) && !type.name.startsWith("__")) {
      found[type.name] = schema.getPossibleTypes(type).map((member) => member.name);
    }
  }
  return found;
}
