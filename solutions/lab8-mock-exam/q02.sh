kubectl expose deployment shop --name=shop-np --type=NodePort --port=80 --target-port=8080
kubectl patch service shop-np -p '{"spec":{"ports":[{"port":80,"nodePort":30081}]}}'
