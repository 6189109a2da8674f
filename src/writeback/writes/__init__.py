"""The Write API: request model, validity matrix, record planning, execution."""
