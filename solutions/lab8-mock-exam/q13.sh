kubectl create service clusterip kv --clusterip=None --tcp=8080
