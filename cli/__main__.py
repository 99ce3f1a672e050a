"""``python -m mgx.cli`` runs the ``mgx`` command (launchers start workers this way)."""
from mgx.cli.main import main

main()
