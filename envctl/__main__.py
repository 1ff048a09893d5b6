from envctl.cli import run

run()
