from tradewind.cli import app

if __name__ == "__main__":  # (a spawned backtest process imports this module too)
    app()
