kubectl expose statefulset kv --cluster-ip=None --port=8080
