module openfault.example/goexample

go 1.19
