kubectl create service externalname smtp --external-name=smtp.mail.example.org
