# Shortcuts for dev.py, which needs nothing but Python 3.11+.
.PHONY: run test lint schema
run:
	python3 dev.py run
test:
	python3 dev.py test
lint:
	.venv/bin/ruff check . && .venv/bin/ruff format --check . && .venv/bin/mypy && .venv/bin/lint-imports
schema:
	.venv/bin/bountyexpo schema export
