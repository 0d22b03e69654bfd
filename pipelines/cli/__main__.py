from pipelines.cli.main import run

run()
