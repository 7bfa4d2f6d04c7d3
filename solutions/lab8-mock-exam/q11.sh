kubectl expose deployment blog --port=80 --target-port=http
kubectl create ingress blog --rule='blog.example/*=blog:80'
