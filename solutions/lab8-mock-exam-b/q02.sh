kubectl expose deployment market --name=market-ext --type=NodePort --port=80 --target-port=8080
kubectl patch service market-ext -p '{"spec":{"ports":[{"port":80,"nodePort":30084}]}}'
