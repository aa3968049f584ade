from tradewind.cli import app

app()
