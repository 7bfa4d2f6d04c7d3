kubectl expose deployment checkout --port=80 --target-port=co-web
