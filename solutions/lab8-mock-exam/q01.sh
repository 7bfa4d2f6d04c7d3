kubectl expose deployment web --name=web-svc --port=80 --target-port=8080
