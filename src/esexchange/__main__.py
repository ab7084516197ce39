from esexchange.cli import app

app()
