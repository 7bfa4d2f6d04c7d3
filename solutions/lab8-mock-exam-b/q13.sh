kubectl expose statefulset zk --cluster-ip=None --port=8080
