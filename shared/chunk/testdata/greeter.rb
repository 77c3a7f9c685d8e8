require 'json'

module Greetings
  # Greeter says hello.
  class Greeter
    def initialize(name)
      @name = name
    end

    def greet
      "Hello, #{@name}"
    end

    def self.default
      new('world')
    end

    # Greets everyone in names, one line each.
    def greet_all(names)
      names.map do |n|
        "Hello, #{n}, from #{@name}"
      end.join("\n")
    end
  end
end
