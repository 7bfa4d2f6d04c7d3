kubectl create service clusterip zk --clusterip=None --tcp=8080
