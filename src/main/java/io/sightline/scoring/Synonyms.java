package io.sightline.scoring;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The words that name each object (synonyms.json), and the objects a caption mentions. */
public final class Synonyms {

    // reference.py uses re.findall(r"\w+") on a Python str, where \w is Unicode-aware
    private static final Pattern WORD = Pattern.compile("\\w+", Pattern.UNICODE_CHARACTER_CLASS);

    private final Map<String, List<String>> namesByObject;

    /** @param namesByObject object -> the words naming it, in the file's order (which orders {@link #mentionedObjects}) */
    public Synonyms(Map<String, List<String>> namesByObject) {
        Map<String, List<String>> copy = new LinkedHashMap<>();
        namesByObject.forEach((o, names) -> copy.put(o, List.copyOf(names)));
        this.namesByObject = copy;
    }

    /**
     * One entry per word of the caption that names an object, grouped by object in the synonyms' order, as
     * reference.py mentioned_objects: a shape named twice counts twice.
     */
    public List<String> mentionedObjects(String caption) {
        List<String> words = new ArrayList<>();
        Matcher m = WORD.matcher(caption.toLowerCase(Locale.ROOT));
        while (m.find()) {
            words.add(m.group());
        }
        List<String> found = new ArrayList<>();
        namesByObject.forEach((object, names) -> words.stream().filter(names::contains).forEach(w -> found.add(object)));
        return found;
    }
}
