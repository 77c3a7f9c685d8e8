package demo;

import java.util.List;

/** Greets people. */
public class Greeter {
    private final String greeting;

    public Greeter(String greeting) {
        this.greeting = greeting;
    }

    /** Greets each name. */
    @Override
    public List<String> greetAll(List<String> names) {
        return names.stream().map(n -> greeting + ", " + n).toList();
    }
}
