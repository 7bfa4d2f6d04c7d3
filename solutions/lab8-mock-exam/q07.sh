kubectl expose deployment pay --port=80 --target-port=pay-http
