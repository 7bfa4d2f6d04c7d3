kubectl expose deployment portal --name=portal-internal --port=8000 --target-port=8080
