kubectl create ingress media --rule='media.example/api*=uploads:80' --rule='media.example/*=site:80'
