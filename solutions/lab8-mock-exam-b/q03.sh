kubectl expose deployment gateway --name=gateway-public --type=LoadBalancer --port=443 --target-port=http
