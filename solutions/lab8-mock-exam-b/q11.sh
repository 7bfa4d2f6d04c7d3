kubectl expose deployment wiki --port=80 --target-port=http
kubectl create ingress wiki --rule='wiki.example/*=wiki:80'
