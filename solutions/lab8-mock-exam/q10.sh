kubectl create ingress shop --rule='shop.example/api*=api:80' --rule='shop.example/*=web:80'
