from cloudcx.cli import app

app()
