kubectl expose deployment api --name=api-lb --type=LoadBalancer --port=8080 --target-port=http
