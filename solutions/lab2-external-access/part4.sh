kubectl expose deployment admin --name=admin-np --type=NodePort --port=80 --target-port=8080
kubectl expose deployment web --name=web-lb --type=LoadBalancer --port=8080 --target-port=8080
