kubectl create service externalname db --external-name=db.prod.example.com
