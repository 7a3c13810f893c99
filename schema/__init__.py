"""GraphQL types only: objects, inputs, enums, unions, errors. Relation fields use loaders."""
